/**
 * Once per unit-tier run: the runtime assets (lib/assets), which every synth reads, rebuilt from
 * the current sources. The unit tier runs no pod, so it needs not the pods' Node.js release that
 * test/global-setup.ts installs for the integration tier.
 */
import { writeAssets } from '../build/assets.js';

export default function setup(): void {
  writeAssets();
}
