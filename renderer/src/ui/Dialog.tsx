import { useEffect, useRef, type ReactNode } from 'react';

/** A modal confirmation on <dialog>: focus is trapped, Escape cancels. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <h2 id="dialog-title">{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      {props.error ? <p className="error" role="alert">{props.error}</p> : null}
      <div className="dialog-actions">
        <button type="button" onClick={props.onCancel} data-testid="confirm-no" autoFocus>Cancel</button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm}
          disabled={props.busy} data-testid="confirm-yes">{props.busy ? 'Working…' : props.confirmLabel}</button>
      </div>
    </dialog>
  );
}
