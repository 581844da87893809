import { useHealth, type HealthSummary } from '../api/health.js';

/** Returns the server's explanation of the Python runner's state, when it sends one. */
function pythonDetail(health: HealthSummary): string | undefined {
  const detail = health.python?.detail;
  return typeof detail === 'string' ? detail : undefined;
}

/** Shows whether the backend responds and which Python sandbox it uses. */
export function HealthBadge() {
  const health = useHealth();

  if (health.isPending) {
    return <span className="health" role="status">Connecting to the server…</span>;
  }
  if (health.isError) {
    return (
      <span className="health health-down" role="status" title={health.error.message}>
        Server unreachable
      </span>
    );
  }

  const { pythonMode, ready, version } = health.data;
  const readiness = ready === false ? 'not ready' : 'ready';
  return (
    <span className={`health ${ready === false ? 'health-starting' : 'health-ok'}`} role="status" title={pythonDetail(health.data)}>
      Python: {pythonMode ?? 'unknown'} ({readiness}){version ? ` · v${version}` : ''}
    </span>
  );
}
