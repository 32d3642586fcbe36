import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface SourceWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Directories watched recursively (lambdas/). */
  dirs: string[];
  /** Single files (lib/definitions.ts); their directory is watched, since editors often replace a file on save. */
  files: string[];
  /** Called once per burst of changes (editors write several times per save), with absolute paths and the first change's time. */
  onChange(files: string[], firstChangeAt: number): void;
  /** Quiet time that ends a burst. Default 25 ms. */
  debounceMs?: number;
  onError?(error: Error): void;
}

const SOURCE = /\.(?:[cm]?[jt]sx?|json)$/;

/** `npm start`'s watch of the function sources (fs.watch; recursive on Linux needs Node 20+). */
export function watchSources(options: WatchOptions): SourceWatcher {
  const watchers: FSWatcher[] = [];
  const pending = new Set<string>();
  let firstAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const files = [...pending];
    pending.clear();
    options.onChange(files, firstAt);
  };
  const changed = (file: string) => {
    if (pending.size === 0) firstAt = Date.now();
    pending.add(file);
    clearTimeout(timer);
    timer = setTimeout(flush, options.debounceMs ?? 25);
  };
  for (const dir of options.dirs) {
    const watcher = watch(dir, { recursive: true }, (_event, name) => {
      if (name && SOURCE.test(name)) changed(path.join(dir, name.toString()));
    });
    watcher.on('error', (error) => options.onError?.(error));
    watchers.push(watcher);
  }
  for (const file of options.files) {
    const dir = path.dirname(file);
    const base = path.basename(file);
    const watcher = watch(dir, (_event, name) => {
      if (name?.toString() === base) changed(file);
    });
    watcher.on('error', (error) => options.onError?.(error));
    watchers.push(watcher);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
