import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';

/** Up to this many rows everything is rendered: a short list needs no windowing (and tests find every row). */
export const RENDER_ALL_MAX = 100;
/** Rows this far (px) above and below the viewport are rendered too, so scrolling and Tab find them ready. */
const OVERSCAN_PX = 800;
/** Used until the list's `--row-h` can be read. */
const FALLBACK_ROW_PX = 60;

export interface WindowedItem {
  index: number;
  key: string;
  /** Offset from the list's top, px. */
  top: number;
}

export interface Windowed {
  items: WindowedItem[];
  /** The whole list's height, px. */
  height: number;
  /** A stable ref callback per key: measures the row while it is rendered. */
  measure(key: string): (el: HTMLElement | null) => void;
  /** The element of a rendered row. */
  element(key: string): HTMLElement | undefined;
  /** Scrolls the window so that row `index` is in view (it is rendered on the next frame). */
  scrollToIndex(index: number): void;
}

/**
 * A windowed list against the page's own scroll: only the rows in and near
 * the viewport are in the DOM, each absolutely placed. Every row in its
 * normal state is exactly `--row-h` tall (CSS), so positions are arithmetic;
 * a row that grows (an open editor or menu) is measured (ResizeObserver) and
 * only then do positions need a prefix sum. `pinned` rows are rendered
 * wherever they are (the focused row, an open editor: unmounting them would
 * lose focus or typed text).
 */
export function useWindowedList(
  listRef: RefObject<HTMLElement | null>,
  keys: readonly string[],
  pinned: ReadonlySet<string>,
): Windowed {
  const [rowPx, setRowPx] = useState(FALLBACK_ROW_PX);
  // Heights that differ from rowPx, by key; bumping `measured` re-lays out.
  const heights = useRef(new Map<string, number>());
  const [measured, setMeasured] = useState(0);
  const [view, setView] = useState(() => ({ top: 0, height: typeof innerHeight === 'number' ? innerHeight : 800 }));
  const elements = useRef(new Map<string, HTMLElement>());
  const refs = useRef(new Map<string, (el: HTMLElement | null) => void>());

  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'function'
        ? new ResizeObserver((entries) => {
            let changed = false;
            for (const entry of entries) {
              const el = entry.target as HTMLElement;
              const key = el.dataset.key;
              if (!key || !el.isConnected || elements.current.get(key) !== el) continue;
              const h = Math.round(entry.borderBoxSize?.[0]?.blockSize ?? el.offsetHeight);
              if (h <= 0) continue;
              const known = heights.current.get(key) ?? rowPxRef.current;
              if (h === known) continue;
              if (h === rowPxRef.current) heights.current.delete(key);
              else heights.current.set(key, h);
              changed = true;
            }
            if (changed) setMeasured((n) => n + 1);
          })
        : null,
    [],
  );
  const rowPxRef = useRef(rowPx);
  rowPxRef.current = rowPx;

  const layout = useMemo(() => makeLayout(keys, rowPx, heights.current), [keys, rowPx, measured]);
  const layoutRef = useRef(layout);
  layoutRef.current = layout;

  const all = keys.length <= RENDER_ALL_MAX;
  const range = all ? { start: 0, end: keys.length } : layout.range(view.top - OVERSCAN_PX, view.top + view.height + OVERSCAN_PX);
  const rangeRef = useRef(range);
  rangeRef.current = range;

  // Where the viewport is over the list: read on scroll and resize (once per frame), and after every
  // render (what is above the list may have changed height). A new state only when the rows change.
  const readRowPx = useCallback(() => {
    const list = listRef.current;
    if (!list) return;
    const css = parseFloat(getComputedStyle(list).getPropertyValue('--row-h'));
    if (css > 0 && css !== rowPxRef.current) {
      heights.current.clear();
      setRowPx(css);
    }
  }, []);
  const check = useCallback(() => {
    const list = listRef.current;
    if (!list || keysRef.current.length <= RENDER_ALL_MAX) return;
    const top = -list.getBoundingClientRect().top;
    const height = innerHeight;
    const next = layoutRef.current.range(top - OVERSCAN_PX, top + height + OVERSCAN_PX);
    const shown = rangeRef.current;
    // Re-render only when the rows needed are not all there, or far more are there than needed.
    if (next.start < shown.start || next.end > shown.end || next.start - shown.start > 20 || shown.end - next.end > 20) {
      setView({ top, height });
    }
  }, []);
  const keysRef = useRef(keys);
  keysRef.current = keys;

  useLayoutEffect(() => {
    let frame = 0;
    const onScroll = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        check();
      });
    };
    // The row height is a CSS variable that changes with the viewport (phone rows are shorter): read on resize, not per scroll.
    const onResize = () => {
      readRowPx();
      onScroll();
    };
    readRowPx();
    addEventListener('scroll', onScroll, { passive: true });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('scroll', onScroll);
      removeEventListener('resize', onResize);
      cancelAnimationFrame(frame);
      observer?.disconnect();
    };
  }, [check, readRowPx, observer]);
  useLayoutEffect(check);

  const items: WindowedItem[] = [];
  const indexes: number[] = [];
  for (let i = range.start; i < range.end; i++) indexes.push(i);
  if (!all && pinned.size > 0) {
    for (const key of pinned) {
      const i = keys.indexOf(key);
      if (i >= 0 && (i < range.start || i >= range.end)) indexes.push(i);
    }
    indexes.sort((a, b) => a - b);
  }
  for (const index of indexes) items.push({ index, key: keys[index]!, top: layout.offset(index) });

  const measure = useCallback(
    (key: string) => {
      let ref = refs.current.get(key);
      if (!ref) {
        ref = (el: HTMLElement | null) => {
          const old = elements.current.get(key);
          if (old && old !== el) observer?.unobserve(old);
          if (el) {
            el.dataset.key = key;
            elements.current.set(key, el);
            observer?.observe(el);
          } else {
            elements.current.delete(key);
            refs.current.delete(key);
            // Rendered again, it starts in its normal state (an open menu or editor is not kept).
            if (heights.current.delete(key)) setMeasured((n) => n + 1);
          }
        };
        refs.current.set(key, ref);
      }
      return ref;
    },
    [observer],
  );

  const scrollToIndex = useCallback((index: number) => {
    const list = listRef.current;
    if (!list) return;
    const l = layoutRef.current;
    const listTop = list.getBoundingClientRect().top + scrollY;
    const rowTop = listTop + l.offset(index);
    const rowBottom = rowTop + l.size(index);
    if (rowTop < scrollY + 8) scrollTo({ top: rowTop - 8 });
    else if (rowBottom > scrollY + innerHeight - 8) scrollTo({ top: rowBottom - innerHeight + 8 });
  }, []);

  return { items, height: layout.total, measure, element: (key) => elements.current.get(key), scrollToIndex };
}

interface Layout {
  total: number;
  offset(index: number): number;
  size(index: number): number;
  /** Rows overlapping [from, to) px. */
  range(from: number, to: number): { start: number; end: number };
}

/** Positions: `i * rowPx` while no row differs from it; a prefix sum otherwise. */
export function makeLayout(keys: readonly string[], rowPx: number, heights: ReadonlyMap<string, number>): Layout {
  const n = keys.length;
  const clamp = (i: number) => Math.max(0, Math.min(n, i));
  if (heights.size === 0) {
    return {
      total: n * rowPx,
      offset: (i) => i * rowPx,
      size: () => rowPx,
      range: (from, to) => ({ start: clamp(Math.floor(from / rowPx)), end: clamp(Math.ceil(to / rowPx)) }),
    };
  }
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + (heights.get(keys[i]!) ?? rowPx);
  // The first index whose row ends after `px`.
  const find = (px: number) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (prefix[mid + 1]! <= px) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    total: prefix[n]!,
    offset: (i) => prefix[clamp(i)]!,
    size: (i) => prefix[clamp(i + 1)]! - prefix[clamp(i)]!,
    range: (from, to) => ({ start: find(from), end: clamp(find(to) + 1) }),
  };
}
