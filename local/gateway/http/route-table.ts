import type { FunctionName } from '../../../lib/definitions.js';

export interface RouteDefinition {
  /** An HTTP method, or `ANY`. */
  readonly method: string;
  /** Path template: `/tasks/{id}`, greedy `/files/{proxy+}`, or `$default` for the catch-all route. */
  readonly path: string;
  readonly fn: FunctionName;
}

export interface RouteMatch {
  readonly route: RouteDefinition;
  /** `GET /tasks/{id}`, or `$default`. */
  readonly routeKey: string;
  /** Decoded values of the `{param}` segments; undefined when the route has none. */
  readonly pathParameters?: Record<string, string>;
}

type Segment = { kind: 'static'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly routeKey: string;
  readonly segments: Segment[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const segments = route.path
    .split('/')
    .slice(1)
    .map((part): Segment => {
      const param = /^\{([^{}+]+)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'static', value: part };
      return param[2] ? { kind: 'greedy', name: param[1]! } : { kind: 'param', name: param[1]! };
    });
  return { route, routeKey: `${route.method} ${route.path}`, segments };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === 'greedy') {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('') === '') return undefined;
      params[segment.name] = decode(rest.join('/'));
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === 'static') {
      if (segment.value !== part) return undefined;
    } else {
      // A path parameter matches exactly one non-empty segment.
      if (part === '') return undefined;
      params[segment.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** Static segments outrank `{param}`, which outranks `{proxy+}`: API Gateway's "most specific match" rule. */
function specificity(route: CompiledRoute): number[] {
  return route.segments.map((s) => (s.kind === 'static' ? 3 : s.kind === 'param' ? 2 : 1));
}

function compareSpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const diff = (sb[i] ?? 0) - (sa[i] ?? 0);
    if (diff !== 0) return diff;
  }
  // A concrete method outranks ANY for the same path.
  return Number(a.route.method === 'ANY') - Number(b.route.method === 'ANY');
}

/**
 * The HTTP API's route table. Follows the HTTP API route evaluation rules: an
 * exact method+path match wins, then the most specific template, then
 * greedy paths, then `$default`. There is no 405: a path served only for
 * other methods is simply not found.
 */
export class RouteTable {
  private readonly routes: CompiledRoute[];
  private readonly defaultRoute: RouteDefinition | undefined;

  constructor(routes: readonly RouteDefinition[]) {
    this.defaultRoute = routes.find((r) => r.path === '$default');
    this.routes = routes
      .filter((r) => r.path !== '$default')
      .map(compile)
      .sort(compareSpecificity);
  }

  match(method: string, rawPath: string): RouteMatch | undefined {
    const parts = rawPath.split('/').slice(1);
    for (const compiled of this.routes) {
      if (compiled.route.method !== method && compiled.route.method !== 'ANY') continue;
      const params = matchSegments(compiled.segments, parts);
      if (!params) continue;
      return Object.keys(params).length > 0
        ? { route: compiled.route, routeKey: compiled.routeKey, pathParameters: params }
        : { route: compiled.route, routeKey: compiled.routeKey };
    }
    return this.defaultRoute ? { route: this.defaultRoute, routeKey: '$default' } : undefined;
  }
}
