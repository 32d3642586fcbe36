import type { Message } from '../sync/engine.js';

/** Always rendered, so screen readers are already watching it when a message arrives. */
export function Messages({ messages, onDismiss }: { messages: Message[]; onDismiss(id: number): void }) {
  return (
    <div class="messages" data-testid="messages" aria-live="polite" aria-relevant="additions">
      {messages.map((m) => (
        <div
          key={m.id}
          class={`message message-${m.kind}`}
          data-testid="message"
          data-kind={m.kind}
          role={m.kind === 'error' ? 'alert' : undefined}
        >
          <span>{m.text}</span>
          <button type="button" class="icon" aria-label="Dismiss message" onClick={() => onDismiss(m.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
