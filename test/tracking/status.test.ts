import { isFinal, nextProgress, nextStatus } from '../../src/compose/status';

describe('build status', () => {
  describe('which statuses end a build', () => {
    it.each(['success', 'failure'])('%s is final', (status) => {
      expect(isFinal(status)).toBe(true);
    });

    it.each(['pending', 'building', 'uploading', 'registering', 'running', 'compressing', '', null, undefined])(
      '%p is not final',
      (status) => {
        expect(isFinal(status)).toBe(false);
      },
    );
  });

  describe('the status shown', () => {
    it('shows the first status the service reports', () => {
      expect(nextStatus(null, 'building')).toBe('building');
    });

    it.each([
      ['pending', 'building'],
      ['building', 'uploading'],
      ['uploading', 'registering'],
      ['registering', 'success'],
      ['building', 'failure'],
      ['pending', 'success'],
    ])('moves forward from %s to %s', (previous, seen) => {
      expect(nextStatus(previous, seen)).toBe(seen);
    });

    it.each([
      ['building', 'pending'],
      ['uploading', 'building'],
      ['registering', 'uploading'],
      ['registering', 'pending'],
      ['uploading', 'running'],
    ])('keeps %s when a lagging answer says %s', (previous, seen) => {
      expect(nextStatus(previous, seen)).toBe(previous);
    });

    it.each(['pending', 'building', 'failure', 'compressing'])('never replaces success, even with %s', (seen) => {
      expect(nextStatus('success', seen)).toBe('success');
    });

    it('never replaces failure with success', () => {
      expect(nextStatus('failure', 'success')).toBe('failure');
    });

    it('shows a status it does not know as the service spelled it', () => {
      expect(nextStatus('building', 'compressing')).toBe('compressing');
      expect(nextStatus('compressing', 'uploading')).toBe('uploading');
    });

    it('treats the seed-era running as in progress, level with building', () => {
      expect(nextStatus('pending', 'running')).toBe('running');
      expect(nextStatus('running', 'building')).toBe('building');
      expect(nextStatus('running', 'uploading')).toBe('uploading');
      expect(nextStatus('running', 'pending')).toBe('running');
      expect(isFinal('running')).toBe(false);
    });
  });

  describe('the step count shown', () => {
    const at = (status: string | null, done?: number, total?: number) => ({
      status,
      progress: done === undefined || total === undefined ? null : { done, total },
    });

    it('shows the steps the service reports', () => {
      expect(nextProgress(at('pending'), 'building', { status: 'building', progress: { done: 2, total: 7 } })).toEqual({
        done: 2,
        total: 7,
      });
    });

    it('never goes down within one status', () => {
      expect(
        nextProgress(at('building', 4, 7), 'building', { status: 'building', progress: { done: 3, total: 7 } }),
      ).toEqual({
        done: 4,
        total: 7,
      });
    });

    it('goes up within one status', () => {
      expect(
        nextProgress(at('building', 4, 7), 'building', { status: 'building', progress: { done: 5, total: 7 } }),
      ).toEqual({
        done: 5,
        total: 7,
      });
    });

    it('starts again from the new count when the status moves on', () => {
      expect(
        nextProgress(at('building', 6, 7), 'uploading', { status: 'uploading', progress: { done: 1, total: 2 } }),
      ).toEqual({
        done: 1,
        total: 2,
      });
    });

    it('keeps the steps of the shown status when a lagging answer was ignored', () => {
      // The service answered with an older status; its steps belong to that status, not to the one still shown.
      expect(
        nextProgress(at('uploading', 1, 3), 'uploading', { status: 'building', progress: { done: 6, total: 7 } }),
      ).toEqual({
        done: 1,
        total: 3,
      });
      expect(
        nextProgress(at('uploading'), 'uploading', { status: 'building', progress: { done: 6, total: 7 } }),
      ).toBeNull();
    });

    it('keeps the last steps of a status when an answer carries none', () => {
      expect(nextProgress(at('building', 3, 7), 'building', { status: 'building' })).toEqual({ done: 3, total: 7 });
    });

    it('shows no steps for a new status that reports none', () => {
      expect(nextProgress(at('building', 3, 7), 'uploading', { status: 'uploading' })).toBeNull();
    });

    it('ignores a count with no steps in it', () => {
      expect(
        nextProgress(at('building', 3, 7), 'building', { status: 'building', progress: { done: 0, total: 0 } }),
      ).toEqual({
        done: 3,
        total: 7,
      });
    });

    it('never shows more steps done than there are', () => {
      expect(nextProgress(at('pending'), 'building', { status: 'building', progress: { done: 9, total: 7 } })).toEqual({
        done: 7,
        total: 7,
      });
    });
  });
});
