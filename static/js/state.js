/* What the page's modules share: the session, the last key list, and hooks into the page. */

export const REFRESH_MS = 5000;

export const state = {
  token: null,
  signedIn: false,
  keys: [],
  providers: [],
  skewMs: 0,
  filter: "",
  store: null, // where keys live, as /api/keys reports it
};

// Set by app.js: `refresh()` reloads the key list, `expire()` ends a refused session.
export const hooks = {
  refresh: async () => {},
  expire: () => {},
};
