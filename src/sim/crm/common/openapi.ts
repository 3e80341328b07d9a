// Validates simulator traffic against the vendors' official OpenAPI 3.0 files. Ajv compiles each
// document as a schema resource whose $id is the file's URL, so in-file refs (#/components/…),
// relative refs (../common/x.json#…) and the vendors' absolute raw.githubusercontent refs (mapped to
// the file of the same name beside it) all resolve. Refs to files we don't have become `{}`: the
// spec is then only as strict as what was saved, and `unresolvedRefs` says where.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export; under NodeNext its default lands on `.default`.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  matcher: RegExp;
  literalSegments: number;
  docId: string;
  pointer: string; // JSON pointer of the operation object
  op: Json;
  doc: Json;
  pathItem: Json;
}

export interface HttpExchange {
  method: string;
  path: string;
  query: Record<string, unknown>;
  contentType: string | undefined;
  /** Parsed JSON/form body; for multipart, an object of field name -> string (files as their file name). */
  body: unknown;
}

export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly unresolvedRefs = new Set<string>();

  constructor(files: string[]) {
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false, coerceTypes: false });
    addFormats(this.ajv);
    // OpenAPI-only formats: accept anything (the type keyword still applies).
    for (const format of ['int32', 'int64', 'float', 'double', 'binary', 'byte', 'password']) {
      this.ajv.addFormat(format, true);
    }
    // ISO 8601 lets the smallest unit carry a fraction (3CX's XAPI writes `PT1M1.432135S` and its
    // swagger's own pattern allows it); ajv-formats' RFC 3339 duration does not.
    this.ajv.addFormat('duration', /^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/);
    const loaded = new Map<string, Json>();
    const load = (file: string): void => {
      const abs = resolve(file);
      if (loaded.has(abs)) return;
      const doc = JSON.parse(readFileSync(abs, 'utf8')) as Json;
      loaded.set(abs, doc);
      for (const dep of this.rewriteRefs(doc, abs)) load(dep);
    };
    for (const file of files) load(file);
    for (const [abs, doc] of loaded) this.ajv.addSchema(doc, fileId(abs));
    for (const file of files) this.indexOperations(loaded.get(resolve(file))!, fileId(resolve(file)));
    // Most specific template first: /objects/calls/search before /objects/calls/{callId}.
    this.operations.sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** Points every $ref at a file we hold (returns the files to load), or blanks it. */
  private rewriteRefs(doc: Json, abs: string): string[] {
    const deps: string[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(visit);
      if (!node || typeof node !== 'object') return;
      const o = node as Json;
      if (typeof o.$ref === 'string' && !o.$ref.startsWith('#')) {
        const [target, fragment = ''] = o.$ref.split('#');
        const local = /^https?:/.test(target!) ? resolve(dirname(abs), basename(new URL(target!).pathname)) : resolve(dirname(abs), target!);
        if (existsSync(local)) {
          o.$ref = `${fileId(local)}#${fragment}`;
          deps.push(local);
        } else {
          this.unresolvedRefs.add(o.$ref);
          delete o.$ref;
        }
      }
      Object.values(o).forEach(visit);
      // OpenAPI 3.0 writes a nullable reference as { allOf: [$ref], nullable: true } (3CX's XAPI
      // does); Ajv's nullable keyword needs a type beside it, so spell the null out.
      if (o.nullable === true && o.type === undefined) {
        const rest = { ...o };
        delete rest.nullable;
        for (const key of Object.keys(o)) delete o[key];
        o.anyOf = [rest, { type: 'null' }];
      }
    };
    visit(doc);
    return deps;
  }

  private indexOperations(doc: Json, docId: string): void {
    const paths = (doc.paths ?? {}) as Record<string, Json>;
    for (const [template, pathItem] of Object.entries(paths)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        const op = pathItem[method] as Json | undefined;
        if (!op) continue;
        const segments = template.split('/');
        // A parameter may fill a whole segment (/calls/{callId}) or part of one (OData: Pbx.DownloadRecording(recId={recId})).
        const pattern = segments.map((s) => escapeRegex(s).replace(/\\\{[^}]+\\\}/g, '([^/]+)')).join('/');
        this.operations.push({
          method: method.toUpperCase(),
          template,
          matcher: new RegExp(`^${pattern}/?$`),
          literalSegments: segments.filter((s) => s && !/^\{.+\}$/.test(s)).length,
          docId,
          pointer: `/paths/${escapePointer(template)}/${method}`,
          op,
          doc,
          pathItem,
        });
      }
    }
  }

  /** The operation a request maps to, if any spec defines it. */
  findOperation(method: string, path: string): Operation | undefined {
    return this.operations.find((o) => o.method === method.toUpperCase() && o.matcher.test(path));
  }

  /** Problems with a request, in words; [] when it conforms. */
  validateRequest(ex: HttpExchange): string[] {
    const op = this.findOperation(ex.method, ex.path);
    if (!op) return [`${ex.method} ${ex.path}: no such operation in the spec`];
    const problems: string[] = [];
    const params = [
      ...this.list(op, (op.pathItem.parameters as unknown[]) ?? [], op.pointer.replace(/\/[a-z]+$/, '') + '/parameters'),
      ...this.list(op, (op.op.parameters as unknown[]) ?? [], `${op.pointer}/parameters`),
    ].filter((p) => p.node.in === 'query');
    for (const { node: param, pointer } of params) {
      const name = String(param.name);
      const raw = ex.query[name];
      if (raw === undefined) {
        if (param.required) problems.push(`query parameter ${name} is required`);
        continue;
      }
      if (!param.schema) continue;
      const schema = this.resolve(op.doc, param.schema, `${pointer}/schema`).node;
      problems.push(...run(this.validatorAt(op.docId, `${pointer}/schema`), coerceQuery(raw, schema), `query ${name}`));
    }
    if (op.op.requestBody) {
      const { node: requestBody, pointer } = this.resolve(op.doc, op.op.requestBody, `${op.pointer}/requestBody`);
      const content = (requestBody.content ?? {}) as Record<string, Json>;
      const mediaType = pickMediaType(Object.keys(content), ex.contentType);
      if (ex.body === undefined || ex.body === null || ex.body === '') {
        if (requestBody.required) problems.push('request body is required');
      } else if (!mediaType) {
        problems.push(`content type ${ex.contentType ?? '(none)'} not accepted (spec: ${Object.keys(content).join(', ')})`);
      } else if (content[mediaType]!.schema) {
        const validate = this.validatorAt(op.docId, `${pointer}/content/${escapePointer(mediaType)}/schema`);
        problems.push(...run(validate, ex.body, 'body'));
      }
    }
    return problems.map((p) => `${ex.method} ${ex.path} (${op.template}) request: ${p}`);
  }

  /**
   * Problems with the parameters a request carries in its path; [] when they conform. Opt-in: OData
   * functions (3CX's XAPI) pass every argument there, as `Pbx.GetCallLogData(periodFrom=…,…)`.
   */
  validatePathParams(method: string, path: string): string[] {
    const op = this.findOperation(method, path);
    if (!op) return [`${method} ${path}: no such operation in the spec`];
    const values = op.matcher.exec(path)!.slice(1);
    const names = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const params = [
      ...this.list(op, (op.pathItem.parameters as unknown[]) ?? [], op.pointer.replace(/\/[a-z]+$/, '') + '/parameters'),
      ...this.list(op, (op.op.parameters as unknown[]) ?? [], `${op.pointer}/parameters`),
    ].filter((p) => p.node.in === 'path');
    const problems: string[] = [];
    for (const { node: param, pointer } of params) {
      const raw = values[names.indexOf(String(param.name))];
      if (raw === undefined) {
        problems.push(`path parameter ${String(param.name)} is missing`);
        continue;
      }
      if (!param.schema) continue;
      const schema = this.resolve(op.doc, param.schema, `${pointer}/schema`).node;
      problems.push(...run(this.validatorAt(op.docId, `${pointer}/schema`), coerceQuery(raw, schema), `path ${String(param.name)}`));
    }
    return problems.map((p) => `${method} ${path} (${op.template}) request: ${p}`);
  }

  /** Problems with a response body; [] when it conforms. */
  validateResponse(method: string, path: string, status: number, contentType: string | undefined, body: unknown): string[] {
    const op = this.findOperation(method, path);
    if (!op) return [];
    const responses = (op.op.responses ?? {}) as Record<string, unknown>;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) return [`${method} ${path} (${op.template}) response: status ${status} is not documented`];
    const { node: response, pointer } = this.resolve(op.doc, responses[key], `${op.pointer}/responses/${escapePointer(key)}`);
    const content = (response.content ?? {}) as Record<string, Json>;
    const mediaType = pickMediaType(Object.keys(content), contentType);
    if (!mediaType || !content[mediaType]!.schema) return [];
    const validate = this.validatorAt(op.docId, `${pointer}/content/${escapePointer(mediaType)}/schema`);
    return run(validate, body, 'body').map((p) => `${method} ${path} (${op.template}) response ${status}: ${p}`);
  }

  private list(op: Operation, nodes: unknown[], pointer: string): Array<{ node: Json; pointer: string }> {
    return nodes.map((n, i) => this.resolve(op.doc, n, `${pointer}/${i}`));
  }

  private validatorAt(docId: string, pointer: string): ValidateFunction {
    const key = `${docId}#${pointer}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile({ $ref: key });
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** Follows local `#/…` refs (parameters, responses, request bodies are refs in some specs), tracking the pointer. */
  private resolve(doc: Json, node: unknown, pointer: string): { node: Json; pointer: string } {
    let current = node as Json;
    let at = pointer;
    for (let hops = 0; hops < 10 && typeof current?.$ref === 'string' && current.$ref.startsWith('#/'); hops++) {
      at = current.$ref.slice(1);
      current = at
        .slice(1)
        .split('/')
        .reduce<unknown>((n, seg) => (n as Json | undefined)?.[unescapePointer(seg)], doc) as Json;
    }
    return { node: current ?? {}, pointer: at };
  }
}

function run(validate: ValidateFunction, data: unknown, where: string): string[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Query strings arrive as text; turn them into the type the parameter schema declares. */
function coerceQuery(raw: unknown, schema: Json | undefined): unknown {
  const type = schema?.type;
  const one = (v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    if ((type === 'integer' || type === 'number') && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    if (type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
    return v;
  };
  if (type === 'array') return (Array.isArray(raw) ? raw : String(raw).split(',')).map((v) => v);
  return one(Array.isArray(raw) ? raw[0] : raw);
}

function pickMediaType(available: string[], contentType: string | undefined): string | undefined {
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  return available.find((m) => m.toLowerCase() === ct) ?? available.find((m) => m === '*/*') ?? (ct ? undefined : available[0]);
}

function fileId(abs: string): string {
  return pathToFileURL(abs).href;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}
