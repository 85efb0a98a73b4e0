/** `stunnerctl import`'s help, apart from the importer so that `stunnerctl --help` loads none of it. */

export const IMPORT_DESCRIPTION =
  "STUNner Gateway API YAML to a TypeScript chart of this package's constructs";

/** How to use what it writes: the chart is a class to instantiate in the app. */
export const IMPORT_USE = `use the chart in your cdk8s app (main.ts):
  import { App } from 'cdk8s';
  import { ImportedChart } from './imported-chart';   // the file -o wrote
  const app = new App();
  new ImportedChart(app, 'stunner');
  app.synth();`;

export const IMPORT_EPILOG = `Reads STUNner's GatewayClass, GatewayConfig, Dataplane, Gateway, UDPRoute and StaticService objects
and writes a chart using StunnerGateway, MediaRoute and TurnAuth from 'stunner-gitops'. Objects or
fields that cannot be mapped are listed on stderr with the reason.

${IMPORT_USE}

exit codes (docs/cli.md): 0 everything mapped, 1 error (unreadable YAML, no Gateway that could be
mapped), 2 usage, 3 some objects or fields not mapped (the chart is still written)`;
