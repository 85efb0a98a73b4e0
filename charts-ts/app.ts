/** The app that `cdk8s synth` renders into dist/: one file per chart. */
import { App, type AppProps } from 'cdk8s';
import { DirectCallChart } from './direct-call-chart.js';
import { MediaGatewayChart } from './media-gateway-chart.js';

export function createApp(props: AppProps = {}): App {
  const app = new App(props);
  new MediaGatewayChart(app, 'media-gateway');
  new DirectCallChart(app, 'direct-call');
  return app;
}
