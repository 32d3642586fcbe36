import type { EngineState } from '../sync/engine.js';
import { TaskItem, type TaskItemProps } from './task-item.js';

type Handlers = Omit<TaskItemProps, 'task' | 'online'>;

export function TaskList({ state, onRetry, ...handlers }: { state: EngineState; onRetry(): void } & Handlers) {
  const { tasks, load, loadError, status } = state;
  if (tasks.length === 0) {
    if (load === 'loading') {
      return (
        <p class="placeholder" role="status" data-testid="tasks-loading">
          Loading tasks…
        </p>
      );
    }
    if (load === 'error') {
      return (
        <div class="placeholder error" role="alert" data-testid="tasks-error">
          <p>{loadError}</p>
          <button type="button" onClick={onRetry}>
            Retry
          </button>
        </div>
      );
    }
    return (
      <p class="placeholder" data-testid="tasks-empty">
        No tasks yet. Add your first one above.
      </p>
    );
  }
  return (
    <ul class="tasks" aria-label="Tasks" data-testid="task-list">
      {tasks.map((task) => (
        <TaskItem key={task.id} task={task} online={status !== 'offline'} {...handlers} />
      ))}
    </ul>
  );
}
