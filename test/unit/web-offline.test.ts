import { describe, expect, it } from 'vitest';
import { appScript, routeFor, shellFiles } from '../../web/src/offline/shell.js';

const SCOPE = 'https://tasks.example/';
const HTML = `<!doctype html><html><head>
<link rel="icon" href="favicon.svg" type="image/svg+xml" />
<link rel="manifest" href="manifest.webmanifest" />
<link rel="stylesheet" href="styles-ABC123.css" />
<script type="module" src="app-XYZ789.js"></script>
<link rel="preconnect" href="https://api.example" />
</head><body></body></html>`;

describe('the service worker’s shell', () => {
  it('is index.html and exactly the same-origin files it names', () => {
    expect(shellFiles(HTML, SCOPE)).toEqual([
      'https://tasks.example/favicon.svg',
      'https://tasks.example/manifest.webmanifest',
      'https://tasks.example/styles-ABC123.css',
      'https://tasks.example/app-XYZ789.js',
    ]);
    expect(appScript(HTML)).toBe('app-XYZ789.js');
    expect(appScript('<p>no script</p>')).toBeNull();
  });

  it('answers navigations network first (the shell offline), config.json network first, hashed files from the shell, and leaves the API alone', () => {
    const get = (url: string, mode = 'cors') => routeFor({ url, mode, method: 'GET' }, SCOPE);
    expect(get('https://tasks.example/?filter=active', 'navigate')).toBe('document');
    expect(get('https://tasks.example/config.json')).toBe('config');
    expect(get('https://tasks.example/app-XYZ789.js')).toBe('shell');
    expect(get('https://tasks.example/styles-ABC123.css')).toBe('shell');
    expect(get('https://tasks.example/manifest.webmanifest')).toBe('shell');
    expect(get('https://tasks.example/app-XYZ789.js.map')).toBe('network');
    expect(get('https://tasks.example/auth/token')).toBe('network');
    expect(get('https://api.example/tasks')).toBe('network');
    expect(routeFor({ url: 'https://tasks.example/config.json', mode: 'cors', method: 'POST' }, SCOPE)).toBe('network');
  });
});
