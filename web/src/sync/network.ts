/** navigator.onLine and its events, behind an interface tests can drive. */
export interface NetworkStatus {
  online(): boolean;
  subscribe(listener: (online: boolean) => void): () => void;
}

export function browserNetwork(): NetworkStatus {
  return {
    online: () => navigator.onLine !== false,
    subscribe(listener) {
      const on = () => listener(true);
      const off = () => listener(false);
      addEventListener('online', on);
      addEventListener('offline', off);
      return () => {
        removeEventListener('online', on);
        removeEventListener('offline', off);
      };
    },
  };
}
