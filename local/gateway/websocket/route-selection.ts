/**
 * Evaluates a route selection expression of the form `$request.body.<path>`
 * (WS_ROUTE_SELECTION_EXPRESSION) against a message, as API Gateway does: a
 * message that is not JSON, has no value at the path, or whose value names
 * no custom route goes to `$default`. Predefined keys (`$connect`, ...) are
 * never selected by a message.
 */
export function createRouteSelector(expression: string, routeKeys: Iterable<string>): (body: string | undefined) => string {
  const match = /^\$request\.body\.(.+)$/.exec(expression);
  if (!match) throw new Error(`Unsupported route selection expression: ${expression}`);
  const path = match[1]!.split('.');
  const custom = new Set([...routeKeys].filter((key) => !key.startsWith('$')));

  return (body) => {
    if (body === undefined || custom.size === 0) return '$default';
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return '$default';
    }
    for (const key of path) {
      if (typeof value !== 'object' || value === null) return '$default';
      value = (value as Record<string, unknown>)[key];
    }
    const selected =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    return selected !== undefined && custom.has(selected) ? selected : '$default';
  };
}
