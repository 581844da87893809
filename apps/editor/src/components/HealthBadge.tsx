import { useHealth } from '../api/health.js';

/** Shows whether the backend answers and which Python sandbox it uses. */
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
  const readiness = ready === false ? 'starting' : 'ready';
  return (
    <span className={`health ${ready === false ? 'health-starting' : 'health-ok'}`} role="status">
      Python: {pythonMode ?? 'unknown'} ({readiness}){version ? ` · v${version}` : ''}
    </span>
  );
}
