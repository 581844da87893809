import { Component, type ErrorInfo, type ReactNode } from 'react';
import { POLICIES_HREF } from '../routes.js';

interface ErrorBoundaryProps {
  children: ReactNode;
}

interface ErrorBoundaryState {
  error: Error | null;
}

/** Replaces a view that threw while rendering with the error and a way back, instead of a blank page. */
export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
  override state: ErrorBoundaryState = { error: null };

  static getDerivedStateFromError(error: Error): ErrorBoundaryState {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // The editor sends no logs to the server, so the browser console is where render errors go.
    console.error('The editor failed to render a view.', error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) {
      return this.props.children;
    }
    return (
      <div className="notice notice-error" role="alert">
        <p>The editor failed to show this page: {error.message}</p>
        <p>
          Unsaved changes on this page are lost. <a href={POLICIES_HREF} onClick={() => this.setState({ error: null })}>Back to all policies</a>
        </p>
      </div>
    );
  }
}
