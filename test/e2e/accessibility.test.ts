import type { Page } from 'playwright-core';
import { expect, inject, it } from 'vitest';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import '../support/stack-info.js';
import { expectAccessible } from './axe.js';
import {
  addTask,
  openEditor,
  openSignIn,
  row,
  rowAction,
  signIn,
  toggleTask,
  uniqueUser,
  waitForNothingPending,
} from './dashboard.js';

const stack = inject('stack');

type Scheme = 'light' | 'dark';
const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
} as const;

/** WCAG relative luminance contrast of two CSS colours (`rgb(…)` / `rgba(…)`, opaque). */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = css
      .match(/[\d.]+/g)!
      .slice(0, 3)
      .map((v) => {
        const c = Number(v) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** The computed colours that WCAG 1.4.11 compares, read in the page. */
async function controlColours(page: Page) {
  return page.evaluate(() => {
    const css = (el: Element | null, prop: string) => (el ? getComputedStyle(el).getPropertyValue(prop) : '');
    const input = document.getElementById('new-title');
    const button = document.querySelector('[data-testid="mark-all"]');
    return {
      page: css(document.body, 'background-color'),
      surface: css(document.querySelector('form.create'), 'background-color'),
      inputBorder: css(input, 'border-top-color'),
      buttonBorder: css(button, 'border-top-color'),
      // The focus ring as drawn on a focused control.
      focusRing: css(document.activeElement, 'outline-color'),
      focusRingStyle: css(document.activeElement, 'outline-style'),
      focusRingWidth: css(document.activeElement, 'outline-width'),
    };
  });
}

describeBrowser('dashboard accessibility', () => {
  const { newContext } = useBrowser();

  for (const scheme of ['light', 'dark'] as Scheme[]) {
    for (const size of ['desktop', 'phone'] as const) {
      it(`passes axe (default + WCAG 2.2 AA rules) on every screen, ${scheme} theme, ${size}`, { timeout: 90_000 }, async () => {
        const context = await newContext({ ...SIZES[size], colorScheme: scheme });
        const page = await openSignIn(context, stack.webUrl);
        const shot = (name: string) => screenshot(page, `a11y-${scheme}-${size}-${name}`);
        await expectAccessible(page, 'sign-in');
        await signIn(page, uniqueUser(`axe-${scheme}-${size}`));
        await page.getByTestId('tasks-empty').waitFor();
        await expectAccessible(page, 'empty list');
        await shot('empty');

        const milk = await addTask(page, 'Buy milk', 'semi-skimmed, two litres');
        const rent = await addTask(page, 'Pay rent');
        await toggleTask(page, rent);
        await waitForNothingPending(page);
        await expectAccessible(page, 'list');
        await shot('list');

        if (size === 'phone') {
          await (await rowAction(page, milk, /^Edit/)).waitFor();
          await expectAccessible(page, 'row actions menu');
          await shot('row-menu');
        }
        await openEditor(page, milk);
        await expectAccessible(page, 'editing');
        await shot('editing');
        await row(page, milk).getByRole('button', { name: 'Cancel' }).click();

        await page.getByRole('button', { name: /^Connection:/ }).click();
        await page.getByTestId('status-help').waitFor();
        await expectAccessible(page, 'connection explanation');
        await page.keyboard.press('Escape');

        await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
        await page.getByTestId('shortcuts-dialog').waitFor();
        await expectAccessible(page, 'keyboard shortcuts');
        await shot('shortcuts');
        await page.keyboard.press('Escape');
        await page.getByTestId('shortcuts-dialog').waitFor({ state: 'detached' });

        await (await rowAction(page, rent, /^Delete/)).click();
        await page.getByTestId('undo-toast').waitFor();
        await expectAccessible(page, 'undo toast');
        await shot('undo');
      });
    }

    it(`draws control borders and the focus ring at 3:1 or more against their background, ${scheme} theme`, async () => {
      const context = await newContext({ ...SIZES.desktop, colorScheme: scheme });
      const page = await openSignIn(context, stack.webUrl);
      await signIn(page, uniqueUser(`contrast-${scheme}`));
      await addTask(page, 'Something to show the toolbar');
      // A keyboard focus (focus-visible) on the title field.
      await page.getByLabel('New task title').focus();
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-title');
      const c = await controlColours(page);
      expect(c.focusRingStyle).toBe('solid');
      expect(parseFloat(c.focusRingWidth)).toBeGreaterThanOrEqual(2);
      const ratios = {
        inputBorderOnSurface: contrast(c.inputBorder, c.surface),
        buttonBorderOnPage: contrast(c.buttonBorder, c.page),
        focusRingOnSurface: contrast(c.focusRing, c.surface),
        focusRingOnPage: contrast(c.focusRing, c.page),
      };
      for (const [what, ratio] of Object.entries(ratios))
        expect(ratio, `${what} (${scheme}): ${JSON.stringify(c)}`).toBeGreaterThanOrEqual(3);
    });
  }

  it('announces additions, completions and deletions politely, and puts focus on a sensible control after each', async () => {
    const context = await newContext(SIZES.desktop);
    const page = await openSignIn(context, stack.webUrl);
    await signIn(page, uniqueUser('announce'));
    const announcer = page.getByTestId('announcer');
    expect(await announcer.getAttribute('role')).toBe('status');
    const focused = () =>
      page.evaluate(
        () => document.activeElement?.closest('[data-testid]')?.getAttribute('data-testid') ?? document.activeElement?.id,
      );

    const first = await addTask(page, 'Buy milk');
    await expect.poll(() => announcer.textContent()).toMatch(/^Added “Buy milk”\./);
    // After adding, focus stays in the title for the next one.
    expect(await focused()).toBe('new-title');
    const second = await addTask(page, 'Buy bread');

    await toggleTask(page, first);
    await expect.poll(() => announcer.textContent()).toMatch(/^Completed “Buy milk”\./);
    // The checkbox keeps the focus (the row stays where it was).
    expect(await focused()).toBe(`task-${first}`);

    await (await rowAction(page, second, /^Delete/)).click();
    await expect.poll(() => announcer.textContent()).toMatch(/^Deleted “Buy bread”\. Press U to undo\./);
    await expect.poll(focused).toBe(`task-${first}`);

    await page.getByTestId('undo-toast').getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => announcer.textContent()).toMatch(/^Restored 1 task\./);
    await expect.poll(focused).toBe(`task-${second}`);
  });
});
