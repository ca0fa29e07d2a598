import adapter from '@sveltejs/adapter-static';

/** A single-page app: every path the UI links to gets index.html, and the pages fetch /api/v1 in the browser. */
export default {
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: false }),
    prerender: { entries: [] },
  },
};
