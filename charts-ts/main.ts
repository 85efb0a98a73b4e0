import { createLayout } from './app.js';

try {
  // Writes $CDK8S_OUTDIR (cdk8s synth sets it to dist/) and prints any synth warning to stderr.
  createLayout().synth();
} catch (e) {
  // Validation errors already name the construct path and the reason: no stack trace needed.
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
