import { useEffect, useReducer, useState } from 'preact/hooks';
import type { RuntimeConfig } from '../../../lambdas/contract.js';
import { createCognitoAuth, type CognitoAuth } from '../auth/cognito.js';
import { createLocalAuth, type LocalAuth } from '../auth/local.js';
import { loadConfig } from '../config.js';
import { registerServiceWorker } from '../offline/register.js';
import { browserLock } from '../lock.js';
import { browserStorage } from '../storage.js';
import { Dashboard } from './dashboard.js';
import { SignIn } from './sign-in.js';

interface Booted {
  config: RuntimeConfig;
  auth: LocalAuth | CognitoAuth;
}

/** Loads config.json, picks the auth mode it names, and finishes a Cognito redirect if there is one. */
export async function boot(): Promise<Booted> {
  const config = await loadConfig();
  const storage = browserStorage('localStorage');
  const auth =
    config.auth.mode === 'local'
      ? createLocalAuth({ tokenUrl: config.auth.tokenUrl, storage })
      : createCognitoAuth({
          domain: config.auth.domain,
          clientId: config.auth.clientId,
          storage,
          transientStorage: browserStorage('sessionStorage'),
          lock: browserLock(),
          pageUrl: location.href,
          navigate: (url) => location.assign(url),
          replaceUrl: (url) => history.replaceState(null, '', url),
        });
  if (auth.mode === 'cognito') await auth.completeSignIn();
  return { config, auth };
}

export function App() {
  const [booted, setBooted] = useState<Booted | null>(null);
  const [bootError, setBootError] = useState<string | null>(null);
  const [attempt, retry] = useReducer((n: number) => n + 1, 0);
  const [, authChanged] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    setBootError(null);
    boot().then(setBooted, (err: Error) => setBootError(err.message));
  }, [attempt]);
  useEffect(() => booted?.auth.subscribe(() => authChanged(undefined)), [booted]);
  const [newVersion, setNewVersion] = useState(false);
  useEffect(() => registerServiceWorker(() => setNewVersion(true)), []);
  const update = newVersion && (
    <aside class="update-bar" aria-label="New version" data-testid="new-version">
      <p>A new version of Tasks is available.</p>
      <button type="button" onClick={() => location.reload()}>
        Reload
      </button>
    </aside>
  );

  if (bootError) {
    return (
      <main>
        <div class="placeholder error" role="alert" data-testid="boot-error">
          <p>The dashboard could not start: {bootError}</p>
          <button type="button" onClick={() => retry(undefined)}>
            Retry
          </button>
        </div>
      </main>
    );
  }
  if (!booted) {
    return (
      <main>
        <p class="placeholder" role="status" data-testid="boot-loading">
          Starting…
        </p>
      </main>
    );
  }
  const { config, auth } = booted;
  const session = auth.session();
  if (!session) {
    return (
      <>
        {update}
        <SignIn auth={auth} />
      </>
    );
  }
  return (
    <>
      {update}
      <Dashboard key={session.sub} config={config} auth={auth} session={session} onSignOut={() => auth.signOut()} />
    </>
  );
}
