/**
 * Registers the service worker (sw.ts) once the page has loaded, and calls
 * `onNewVersion` when it has stored a newer deployment than this page runs
 * (another tab loaded it): this page keeps working, and offers a reload.
 */
export function registerServiceWorker(onNewVersion: () => void): () => void {
  const container = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (!container) return () => undefined;
  const mine = document.querySelector<HTMLScriptElement>('script[type="module"][src]')?.src.split('/').pop();
  const onMessage = (e: MessageEvent) => {
    const data = e.data as { type?: string; app?: string | null } | null;
    if (data?.type === 'new-version' && data.app && data.app !== mine) onNewVersion();
  };
  container.addEventListener('message', onMessage);
  // `updateViaCache: 'none'`: the browser's update check for sw.js skips the HTTP cache.
  const register = () => void container.register('sw.js', { updateViaCache: 'none' }).catch(() => undefined);
  if (document.readyState === 'complete') register();
  else addEventListener('load', register, { once: true });
  return () => container.removeEventListener('message', onMessage);
}
