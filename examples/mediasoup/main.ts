/** `npx tsx examples/mediasoup/main.ts [outdir]`: synthesizes the example into outdir (default dist-examples). */
import { App } from 'cdk8s';
import { MediasoupChart } from './chart.js';

const app = new App({ outdir: process.argv[2] ?? 'dist-examples' });
new MediasoupChart(app, 'mediasoup');
app.synth();
