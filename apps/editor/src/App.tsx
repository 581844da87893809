import { lazy, Suspense } from 'react';
import { ErrorBoundary } from './components/ErrorBoundary.js';
import { HealthBadge } from './components/HealthBadge.js';
import { LibrariesPanel } from './components/LibrariesPanel.js';
import { PolicyList } from './components/PolicyList.js';
import { LIBRARIES_HREF, POLICIES_HREF, useRoute, type Route } from './routes.js';

// Monaco is several megabytes, so the policy view and its editor load only when a policy opens.
const PolicyView = lazy(() => import('./components/PolicyView.js'));

export function App() {
  const route = useRoute();

  return (
    <>
      <header className="app-header">
        <a className="app-title" href={POLICIES_HREF}>
          Policy Logic Studio
        </a>
        <nav className="app-nav" aria-label="Main">
          <a href={POLICIES_HREF}>Policies</a>
          <a href={LIBRARIES_HREF}>Python libraries</a>
        </nav>
        <HealthBadge />
      </header>
      <main className="app-main">
        <ErrorBoundary key={route.page === 'policy' ? route.policyId : route.page}>
          <Page route={route} />
        </ErrorBoundary>
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'policy':
      return (
        <Suspense fallback={<p role="status">Loading the policy editor…</p>}>
          <PolicyView policyId={route.policyId} />
        </Suspense>
      );
    case 'libraries':
      return <LibrariesPanel />;
    case 'policies':
      return <PolicyList />;
  }
}
