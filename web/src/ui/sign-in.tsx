import { useState } from 'preact/hooks';
import type { CognitoAuth } from '../auth/cognito.js';
import type { LocalAuth } from '../auth/local.js';

export function SignIn({ auth }: { auth: LocalAuth | CognitoAuth }) {
  const [username, setUsername] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const notice = auth.notice();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (auth.mode === 'local') await auth.signIn(username);
      else await auth.signIn();
    } catch (err) {
      setError(`Sign-in failed: ${(err as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <main class="sign-in">
      <h1>Tasks</h1>
      {(error ?? notice) && (
        <p class="message message-error" role="alert" data-testid="sign-in-error">
          {error ?? notice}
        </p>
      )}
      <form onSubmit={submit} aria-label="Sign in">
        {auth.mode === 'local' && (
          <div class="field">
            <label for="username">Username</label>
            <input
              id="username"
              name="username"
              value={username}
              required
              autocomplete="username"
              // biome-ignore lint/a11y/noAutofocus: the sign-in page's only field; focus lands where the person starts (issue 11: a sensible control after every action).
              autoFocus
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
            <p class="hint">Local mode: any name signs you in as that user.</p>
          </div>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
