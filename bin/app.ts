import { buildWeb } from '../web/build.js';
import { createTaskSyncApp } from '../lib/stack-app.js';

// The dashboard is uploaded as built, so every synth (and so every `cdk
// deploy`) rebuilds web/dist first: a deploy can never ship a stale client.
const web = await buildWeb();
if (!web.withinBudget) {
  throw new Error(
    `web client over its size budget (${web.initialJs.gzipBytes} > ${web.budgetGzipBytes} bytes gzipped); see web/build.ts`,
  );
}

const { app } = createTaskSyncApp({ stackProps: { webDistPath: web.outDir } });
app.synth();
