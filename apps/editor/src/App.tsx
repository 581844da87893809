import { lazy, Suspense } from 'react';
import { ErrorBoundary } from './components/ErrorBoundary.js';
import { HealthBadge } from './components/HealthBadge.js';
import { PolicyList } from './components/PolicyList.js';
import { POLICIES_HREF, useRoute } from './routes.js';

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
        <HealthBadge />
      </header>
      <main className="app-main">
        <ErrorBoundary key={route.page === 'policy' ? route.policyId : 'policies'}>
          {route.page === 'policy' ? (
            <Suspense fallback={<p role="status">Loading the policy editor…</p>}>
              <PolicyView policyId={route.policyId} />
            </Suspense>
          ) : (
            <PolicyList />
          )}
        </ErrorBoundary>
      </main>
    </>
  );
}
