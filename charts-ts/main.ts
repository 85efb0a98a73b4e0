import { createApp } from './app.js';

try {
  createApp().synth();
} catch (e) {
  // Validation errors already name the construct path and the reason: no stack trace needed.
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
