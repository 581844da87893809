import { useEffect, useState } from 'react';

/** Pages of the app, addressed by the URL hash so the backend serves one index.html. */
export type Route = { page: 'policies' } | { page: 'libraries' } | { page: 'policy'; policyId: string };

export function parseRoute(hash: string): Route {
  const match = /^#\/policies\/([^/]+)$/.exec(hash);
  if (match?.[1]) {
    return { page: 'policy', policyId: decodeURIComponent(match[1]) };
  }
  if (hash === LIBRARIES_HREF) {
    return { page: 'libraries' };
  }
  return { page: 'policies' };
}

export function policyHref(policyId: string): string {
  return `#/policies/${encodeURIComponent(policyId)}`;
}

export const POLICIES_HREF = '#/';

export const LIBRARIES_HREF = '#/libraries';

export function navigate(href: string): void {
  window.location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));

  useEffect(() => {
    const onHashChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  return route;
}
