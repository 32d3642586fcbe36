import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core in the page: its default rules plus every rule tagged `wcag22aa`
 * (target size among them, which the defaults leave out). Returns the
 * violations, summarised.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    type Axe = {
      getRules(tags: string[]): { ruleId: string }[];
      run(
        context: Document,
        options: { rules: Record<string, { enabled: boolean }> },
      ): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }>;
    };
    const axe = (window as unknown as { axe: Axe }).axe;
    const rules = Object.fromEntries(axe.getRules(['wcag22aa']).map((r) => [r.ruleId, { enabled: true }]));
    const result = await axe.run(document, { rules });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
}

/** Every screen the tests pass through: 0 violations. `screen` names it in the failure. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, `axe violations on the ${screen} screen`).toEqual([]);
}
