import { createApp } from './app.js';

createApp().synth();
