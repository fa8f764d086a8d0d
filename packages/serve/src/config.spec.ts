import { configFromEnv } from './config';

describe('configFromEnv', () => {
  it('defaults to port 8000, admin disabled, no split', () => {
    expect(configFromEnv({})).toEqual({
      port: 8000,
      adminKey: null,
      challengerPercent: 0,
      shadow: false,
      pollMs: 1000,
      bodyLimit: '1mb',
      logFlushMs: 1000,
    });
  });
  it('reads the environment and names a bad variable', () => {
    const c = configFromEnv({
      PORT: '9001',
      BOLSILLO_ADMIN_KEY: 'k',
      BOLSILLO_CHALLENGER_PERCENT: '10',
      BOLSILLO_SHADOW: 'true',
      BOLSILLO_POLL_MS: '250',
    });
    expect(c).toMatchObject({ port: 9001, adminKey: 'k', challengerPercent: 10, shadow: true, pollMs: 250 });
    expect(() => configFromEnv({ BOLSILLO_CHALLENGER_PERCENT: '150' })).toThrow(/BOLSILLO_CHALLENGER_PERCENT=150/);
    expect(() => configFromEnv({ PORT: 'eighty' })).toThrow(/PORT=eighty/);
    expect(configFromEnv({ BOLSILLO_ADMIN_KEY: '' }).adminKey).toBeNull();
  });
});
