/**
 * The message reference, generated from spec/kubedirect.proto with protobufjs (comments
 * kept): every service and rpc, every message with its fields (name, number, type,
 * comment, oneof group), every enum (the error reasons among them) with its values.
 */
import protobuf from 'protobufjs';
import { escapeHtml } from './layout.js';
import { linkIds, type IdRegistry } from './markdown.js';

export interface ProtoSummary {
  readonly packageName: string;
  readonly services: number;
  readonly rpcs: number;
  readonly messages: number;
  readonly fields: number;
  readonly enums: number;
  readonly enumValues: number;
}

export interface ProtoReference {
  readonly html: string;
  readonly summary: ProtoSummary;
  /** Anchor IDs of every service, message and enum, by name. */
  readonly anchors: ReadonlyMap<string, string>;
}

function comment(text: string | null | undefined, page: string, ids: IdRegistry): string {
  if (text === null || text === undefined || text.trim() === '') return '';
  const paragraphs = text.trim().split(/\n\s*\n/).map((p) => `<p>${escapeHtml(p.replace(/\s*\n\s*/g, ' '))}</p>`);
  return linkIds(paragraphs.join(''), page, ids);
}

/** Every type of the file, nested ones included, in definition order. */
function allOf(namespace: protobuf.NamespaceBase): protobuf.ReflectionObject[] {
  const out: protobuf.ReflectionObject[] = [];
  for (const nested of namespace.nestedArray) {
    out.push(nested);
    if (nested instanceof protobuf.Type || (nested instanceof protobuf.Namespace && !(nested instanceof protobuf.Service))) out.push(...allOf(nested));
  }
  return out;
}

export function protoReference(protoText: string, page: string, ids: IdRegistry): ProtoReference {
  const parsed = protobuf.parse(protoText, { alternateCommentMode: true, keepCase: true });
  const packageName = parsed.package ?? '';
  const namespace = packageName === '' ? parsed.root : parsed.root.lookup(packageName);
  if (!(namespace instanceof protobuf.Namespace)) throw new Error(`kubedirect.proto: package ${packageName} not found`);
  const objects = allOf(namespace);
  const services = objects.filter((o): o is protobuf.Service => o instanceof protobuf.Service);
  const messages = objects.filter((o): o is protobuf.Type => o instanceof protobuf.Type);
  const enums = objects.filter((o): o is protobuf.Enum => o instanceof protobuf.Enum);
  const anchors = new Map<string, string>();
  const localName = (o: protobuf.ReflectionObject): string => o.fullName.replace(/^\./, '').slice(packageName === '' ? 0 : packageName.length + 1);
  for (const o of [...services, ...messages, ...enums]) anchors.set(localName(o), localName(o));

  const typeLink = (type: string, context: protobuf.ReflectionObject): string => {
    let resolved: protobuf.ReflectionObject | null = null;
    try {
      resolved = (context.parent ?? namespace).lookup(type);
    } catch {
      resolved = null;
    }
    if (resolved instanceof protobuf.Type || resolved instanceof protobuf.Enum) {
      const name = localName(resolved);
      return `<a href="#${escapeHtml(name)}"><code>${escapeHtml(name)}</code></a>`;
    }
    return `<code>${escapeHtml(type)}</code>`;
  };

  const parts: string[] = [];
  parts.push('<h2 id="services">Services</h2>');
  for (const service of services) {
    const name = localName(service);
    parts.push(`<section class="proto-item" id="${escapeHtml(name)}"><h3>service <code>${escapeHtml(name)}</code></h3>${comment(service.comment, page, ids)}`);
    parts.push('<table><thead><tr><th>rpc</th><th>request</th><th>response</th><th>description</th></tr></thead><tbody>');
    for (const method of service.methodsArray) {
      const request = `${method.requestStream === true ? 'stream ' : ''}${typeLink(method.requestType, service)}`;
      const response = `${method.responseStream === true ? 'stream ' : ''}${typeLink(method.responseType, service)}`;
      parts.push(
        `<tr id="${escapeHtml(`${name}.${method.name}`)}"><td><code>${escapeHtml(method.name)}</code></td><td>${request}</td><td>${response}</td><td>${comment(method.comment, page, ids)}</td></tr>`,
      );
    }
    parts.push('</tbody></table></section>');
  }

  parts.push('<h2 id="messages">Messages</h2>');
  let fieldCount = 0;
  for (const message of messages) {
    const name = localName(message);
    parts.push(`<section class="proto-item" id="${escapeHtml(name)}"><h3>message <code>${escapeHtml(name)}</code></h3>${comment(message.comment, page, ids)}`);
    if (message.fieldsArray.length === 0) parts.push('<p class="muted">No fields.</p>');
    else {
      parts.push('<table><thead><tr><th>#</th><th>field</th><th>type</th><th>oneof</th><th>description</th></tr></thead><tbody>');
      for (const field of [...message.fieldsArray].sort((a, b) => a.id - b.id)) {
        fieldCount++;
        const label = field instanceof protobuf.MapField ? `map&lt;<code>${escapeHtml(field.keyType)}</code>, ${typeLink(field.type, message)}&gt;` : `${field.repeated ? 'repeated ' : ''}${typeLink(field.type, message)}`;
        parts.push(
          `<tr id="${escapeHtml(`${name}.${field.name}`)}"><td class="num">${field.id}</td><td><code>${escapeHtml(field.name)}</code></td><td>${label}</td><td>${field.partOf === null ? '' : `<code>${escapeHtml(field.partOf.name)}</code>`}</td><td>${comment(field.comment, page, ids)}</td></tr>`,
        );
      }
      parts.push('</tbody></table>');
    }
    parts.push('</section>');
  }

  parts.push('<h2 id="enums">Enums (error codes, failure reasons, phases)</h2>');
  let valueCount = 0;
  for (const e of enums) {
    const name = localName(e);
    parts.push(`<section class="proto-item" id="${escapeHtml(name)}"><h3>enum <code>${escapeHtml(name)}</code></h3>${comment(e.comment, page, ids)}`);
    parts.push('<table><thead><tr><th>value</th><th>number</th><th>description</th></tr></thead><tbody>');
    for (const [valueName, number] of Object.entries(e.values)) {
      valueCount++;
      parts.push(
        `<tr id="${escapeHtml(`${name}.${valueName}`)}"><td><code>${escapeHtml(valueName)}</code></td><td class="num">${number}</td><td>${comment(e.comments[valueName], page, ids)}</td></tr>`,
      );
    }
    parts.push('</tbody></table></section>');
  }

  const summary: ProtoSummary = {
    packageName,
    services: services.length,
    rpcs: services.reduce((n, s) => n + s.methodsArray.length, 0),
    messages: messages.length,
    fields: fieldCount,
    enums: enums.length,
    enumValues: valueCount,
  };
  const toc = [
    `<p>Package <code>${escapeHtml(packageName)}</code>: ${summary.services} services with ${summary.rpcs} rpcs, ${summary.messages} messages with ${summary.fields} fields, ${summary.enums} enums with ${summary.enumValues} values. The normative meaning of each message is in the <a href="spec/10-wire-protocol.html">wire protocol chapter</a>; the file itself is <a href="spec/kubedirect.proto">spec/kubedirect.proto</a>.</p>`,
    '<nav class="toc" aria-label="Types"><ul>',
    ...[...services, ...messages, ...enums].map((o) => `<li><a href="#${escapeHtml(localName(o))}"><code>${escapeHtml(localName(o))}</code></a></li>`),
    '</ul></nav>',
  ];
  return { html: [...toc, ...parts].join('\n'), summary, anchors };
}
