import type { CrmStatus } from '../../../shared/ipc.js';
import { useCrmSignIn, useCrmStatus } from '../agent.js';

const STATE_TEXT: Record<CrmStatus['crms'][number]['state'], string> = {
  signed_out: 'Not signed in',
  signed_in: 'Signed in',
  needs_sign_in: 'Signed out by the CRM',
  not_configured: 'Not available in this build',
};

export function CrmSignIn() {
  const status = useCrmStatus();
  const action = useCrmSignIn();
  if (status.isPending) return <p className="loading">Loading…</p>;
  if (status.isError) return <p role="alert">Could not read CRM status: {status.error.message}</p>;
  return (
    <div className="card">
      <h2>Your CRM</h2>
      <p className="hint">Sign in with your own CRM account in your browser. Ringbridge never sees your password.</p>
      <ul className="crms" aria-label="CRMs">
        {status.data.crms.map((crm) => (
          <li key={crm.id} className="crm" aria-label={crm.displayName}>
            <div>
              <span className="crm-name">{crm.displayName}</span>
              <span className={`crm-state crm-${crm.state}`}>
                {STATE_TEXT[crm.state]}
                {crm.account ? ` · ${crm.account}` : ''}
              </span>
              {crm.state === 'needs_sign_in' && crm.detail && <p className="reason">{crm.detail}</p>}
              {crm.state === 'not_configured' && (
                <p className="reason">
                  This copy of Ringbridge was built without a {crm.displayName} connection, so you cannot sign in to it here. Ask whoever set up Ringbridge for
                  you if you need it.
                </p>
              )}
            </div>
            {crm.state === 'signed_in' ? (
              <button type="button" onClick={() => action.mutate({ crmId: crm.id, signIn: false })} disabled={action.isPending} aria-label={`Sign out of ${crm.displayName}`}>
                Sign out
              </button>
            ) : crm.state === 'not_configured' ? null : (
              <button
                type="button"
                className="primary"
                onClick={() => action.mutate({ crmId: crm.id, signIn: true })}
                disabled={action.isPending}
                aria-label={crm.state === 'needs_sign_in' ? `Sign in to ${crm.displayName} again` : `Sign in to ${crm.displayName}`}
              >
                {crm.state === 'needs_sign_in' ? 'Sign in again' : 'Sign in'}
              </button>
            )}
          </li>
        ))}
      </ul>
      {action.isError && (
        <p role="alert" className="error">
          {action.error.message}
        </p>
      )}
    </div>
  );
}
