import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";

interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  defaultReason: string;
  /** A skip or a resolve must say why (the server refuses it without): Confirm stays disabled while the reason is empty. */
  reasonRequired?: boolean;
  busy: boolean;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}

/**
 * A modal <dialog>: the browser traps focus in it, moves focus to the reason field, and turns
 * Escape into a `cancel` event, which closes it like "Keep".
 */
export function ConfirmDialog({ title, children, defaultReason, reasonRequired = false, busy, onConfirm, onClose }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [reason, setReason] = useState(defaultReason);
  const missing = reasonRequired && reason.trim() === "";

  useEffect(() => {
    const dialog = ref.current;
    // No close() on cleanup: its async `close` event would reach onClose after a StrictMode
    // remount; removing the element takes it out of the top layer anyway.
    if (dialog !== null && !dialog.open) dialog.showModal();
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!busy && !missing) onConfirm(reason.trim());
  };

  return (
    <dialog ref={ref} className="confirm" aria-modal="true" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`} data-testid="confirm-dialog" onClose={onClose}>
      <form onSubmit={submit}>
        <h2 id={`${id}-title`}>{title}</h2>
        <div id={`${id}-body`}>{children}</div>
        <label className="field">
          <span>Reason ({reasonRequired ? "required, " : ""}recorded in the saga's history)</span>
          <input
            name="reason"
            type="text"
            value={reason}
            maxLength={1000}
            autoFocus
            required={reasonRequired}
            aria-invalid={missing}
            aria-describedby={missing ? `${id}-missing` : undefined}
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
        {missing && (
          <p className="field-error" id={`${id}-missing`} data-testid="reason-missing">
            Say why: the reason is required for this action.
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={() => ref.current?.close()} disabled={busy}>
            Keep
          </button>
          <button type="submit" className="primary" disabled={busy || missing}>
            {busy ? "Sending…" : "Confirm"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
