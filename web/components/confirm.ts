/** A modal yes/no question (a native <dialog>): resolves true when the user chose the action. */
import { h } from '../dom';

export async function confirmAction(title: string, text: string, action: string): Promise<boolean> {
  const dialog = h(
    'dialog',
    { class: 'confirm', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, title),
    h('p', {}, text),
    h(
      'form',
      { method: 'dialog', class: 'actions' },
      h('button', { value: 'cancel', autofocus: true }, 'Cancel'),
      h('button', { value: 'confirm', class: 'danger' }, action),
    ),
  );
  document.body.append(dialog);
  const answer = await new Promise<string>((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
  dialog.remove();
  return answer === 'confirm';
}
