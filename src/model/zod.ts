/**
 * The zod every model file uses: zod/mini (the same schemas and checks as the full zod, as
 * functions rather than methods: ~110 KB less to load on every `fdleak diagnose`), with the English
 * messages the full zod has by default; zod/mini ships none, and they end up in InputError messages.
 */
import { z } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export { z };
