/**
 * Input decoding and output / error encoding per protocol, shaped so the SDK v3 clients parse them as they parse
 * AWS: the error code goes where each protocol's deserialiser looks first (`__type` and `x-amzn-errortype` for
 * JSON, `<Error><Code>` for XML), so modelled errors become their exception classes.
 */
import { EmulatorError, HttpResponse, type HttpRoute, type ServiceDefinition } from '../service';
import { decodeForm, toJsonText, WireError } from './wire';
import { escapeXml, xmlChildren } from './xml';

export interface DecodedRequest {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string>;
  queryAll: Record<string, string[]>;
  params: Record<string, string>;
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new WireError('SerializationException', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WireError('SerializationException', 'the request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function decodeInput(def: ServiceDefinition<unknown>, route: HttpRoute | undefined, req: DecodedRequest): Record<string, unknown> {
  switch (def.protocol) {
    case 'awsJson1_0':
    case 'awsJson1_1':
      return parseJsonBody(req.body);
    case 'awsQuery':
    case 'ec2Query': {
      // A GET (SNS's SubscribeURL) carries its parameters in the query string.
      const form = decodeForm(req.body.length === 0 ? new URLSearchParams(req.query).toString() : req.body.toString('utf8'));
      delete form.Action;
      delete form.Version;
      return form;
    }
    case 'restJson1': {
      const input: Record<string, unknown> = { ...parseJsonBody(req.body) };
      for (const [k, v] of Object.entries(req.query)) {
        const member = route?.query?.[k] ?? k;
        // `Member[]` collects a repeated query parameter (`FeatureName=a&FeatureName=b`) into a list.
        if (member.endsWith('[]')) input[member.slice(0, -2)] = req.queryAll[k] ?? [v];
        else input[member] = v;
      }
      for (const [h, member] of Object.entries(route?.headers ?? {})) {
        const v = req.headers[h];
        if (v !== undefined) input[member] = Array.isArray(v) ? v.join(',') : v;
      }
      return { ...input, ...req.params };
    }
    case 'restXml': {
      // restXml handlers read headers and bytes from ctx.http; the input carries path and query members
      // (without the SDK's routing hint `x-id`).
      const { 'x-id': _hint, ...query } = req.query;
      return { ...query, ...req.params };
    }
  }
}

function jsonResponse(status: number, body: string, headers: Record<string, string>): HttpResponse {
  return new HttpResponse(status, { 'content-type': 'application/json', ...headers }, body);
}

export function encodeOutput(def: ServiceDefinition<unknown>, operation: string, route: HttpRoute | undefined, output: unknown, requestId: string): HttpResponse {
  if (output instanceof HttpResponse) return output;
  const value = output ?? {};
  switch (def.protocol) {
    case 'awsJson1_0':
    case 'awsJson1_1':
      return jsonResponse(200, toJsonText(value), {
        'content-type': `application/x-amz-json-${def.protocol === 'awsJson1_0' ? '1.0' : '1.1'}`,
        'x-amzn-requestid': requestId,
      });
    case 'restJson1':
      return jsonResponse(route?.status ?? 200, toJsonText(value), { 'x-amzn-requestid': requestId });
    case 'awsQuery': {
      const ns = def.xmlNamespace ? ` xmlns="${def.xmlNamespace}"` : '';
      const xml =
        `<${operation}Response${ns}><${operation}Result>${xmlChildren(value, 'member')}</${operation}Result>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
      return new HttpResponse(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, xml);
    }
    case 'ec2Query': {
      const ns = def.xmlNamespace ? ` xmlns="${def.xmlNamespace}"` : '';
      const xml = `<${operation}Response${ns}><requestId>${requestId}</requestId>${xmlChildren(value, 'item')}</${operation}Response>`;
      return new HttpResponse(200, { 'content-type': 'text/xml;charset=UTF-8' }, xml);
    }
    case 'restXml':
      throw new Error(`${def.name}.${operation}: restXml handlers return an HttpResponse (see SERVICES.md)`);
  }
}

export function encodeError(def: Pick<ServiceDefinition<unknown>, 'protocol' | 'queryCompatible' | 'xmlNamespace'>, err: EmulatorError, requestId: string): HttpResponse {
  const status = err.httpStatus;
  const sender = status < 500 ? 'Sender' : 'Receiver';
  switch (def.protocol) {
    case 'awsJson1_0':
    case 'awsJson1_1':
    case 'restJson1': {
      const headers: Record<string, string> = { 'x-amzn-errortype': err.code, 'x-amzn-requestid': requestId, ...err.headers };
      if (def.queryCompatible) headers['x-amzn-query-error'] = `${err.code};${sender}`;
      if (def.protocol !== 'restJson1') headers['content-type'] = `application/x-amz-json-${def.protocol === 'awsJson1_0' ? '1.0' : '1.1'}`;
      const body = def.protocol === 'restJson1' ? { message: err.message, ...err.fields } : { __type: err.code, message: err.message, ...err.fields };
      return jsonResponse(status, toJsonText(body), headers);
    }
    case 'awsQuery': {
      const ns = def.xmlNamespace ? ` xmlns="${def.xmlNamespace}"` : '';
      const xml =
        `<ErrorResponse${ns}><Error><Type>${sender}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
        `${xmlChildren(err.fields, 'member')}</Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      return new HttpResponse(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...err.headers }, xml);
    }
    case 'ec2Query': {
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
        `</Error></Errors><RequestID>${requestId}</RequestID></Response>`;
      return new HttpResponse(status, { 'content-type': 'text/xml;charset=UTF-8', ...err.headers }, xml);
    }
    case 'restXml': {
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
        `${xmlChildren(err.fields, 'member')}<RequestId>${requestId}</RequestId></Error>`;
      return new HttpResponse(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, ...err.headers }, xml);
    }
  }
}

export { EmulatorError };
