import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemHandler } from './problem.js';

describe('problem details', () => {
  it('answers unknown routes, thrown problems, Fastify errors and crashes as problem+json, hiding internals', async () => {
    const app = Fastify({ logger: false });
    await app.register(problemHandler);
    app.get('/teapot', async () => {
      throw new ProblemError(418, 'teapot', 'I am a teapot', 'Short and stout.', { 'retry-after': '5' });
    });
    app.get('/crash', async () => {
      throw new Error('secret database path /var/lib/x');
    });
    app.post('/echo', { bodyLimit: 10 }, async (req) => req.body);

    const teapot = await app.inject('/teapot');
    expect(teapot.statusCode).toBe(418);
    expect(teapot.headers['retry-after']).toBe('5');
    expect(teapot.json()).toEqual({ type: 'urn:ringbridge:problem:teapot', title: 'I am a teapot', status: 418, detail: 'Short and stout.' });

    const crash = await app.inject('/crash');
    expect(crash.statusCode).toBe(500);
    expect(crash.body).not.toContain('secret');

    const missing = await app.inject('/nowhere?token=abc');
    expect(missing.json()).toMatchObject({ status: 404, detail: 'No route GET /nowhere' });

    const big = await app.inject({ method: 'POST', url: '/echo', payload: { a: 'long enough' } });
    expect(big.json()).toMatchObject({ status: 413, type: 'urn:ringbridge:problem:body-too-large' });
    const bad = await app.inject({ method: 'POST', url: '/echo', payload: '{', headers: { 'content-type': 'application/json' } });
    expect(bad.json()).toMatchObject({ status: 400, type: 'urn:ringbridge:problem:malformed-body' });

    for (const res of [teapot, crash, missing, big, bad]) expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
    await app.close();
  });
});
