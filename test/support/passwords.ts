/** The password tests register with (global-setup.ts scans the run's log lines for it). */
export const GOOD_PASSWORD = "correct horse battery staple";
