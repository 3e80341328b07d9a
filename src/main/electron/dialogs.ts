// Native prompts the capabilities ask for through ports.
import { dialog } from 'electron';

export async function confirmDialDialog(display: string): Promise<boolean> {
  const { response } = await dialog.showMessageBox({
    type: 'question',
    buttons: ['Call', 'Cancel'],
    defaultId: 0,
    cancelId: 1,
    title: 'Ringbridge',
    message: `Call ${display}?`,
    detail: 'Your desk phone or 3CX app will ring first.',
  });
  return response === 0;
}
