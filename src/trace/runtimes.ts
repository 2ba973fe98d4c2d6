/**
 * Interpreted runtimes whose native stacks show the interpreter, not the program: recognised by an
 * object in the stack (the interpreter binary or its shared library), e.g.
 * /usr/bin/python3.11, /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0, /usr/bin/node, libjvm.so.
 */
export type Runtime = 'python' | 'node' | 'java' | 'ruby' | 'php';

const PATTERNS: Array<[Runtime, RegExp]> = [
  ['python', /^(python[\d.]*|libpython[\d.]+\.so(\.[\d.]+)?)$/],
  ['node', /^(node|nodejs|libnode\.so(\.\d+)*)$/],
  ['java', /^(java|libjvm\.so)$/],
  ['ruby', /^(ruby[\d.]*|libruby(-[\d.]+)?\.so(\.[\d.]+)?)$/],
  ['php', /^(php[\d.]*|php-fpm[\d.]*|php-cgi[\d.]*|libphp[\d.]*\.so)$/],
];

/** The runtime whose interpreter appears among `objects` (stack frame object paths), or null. */
export function runtimeOf(objects: readonly string[]): Runtime | null {
  for (const object of objects) {
    const base = object.slice(object.lastIndexOf('/') + 1);
    for (const [runtime, re] of PATTERNS) if (re.test(base)) return runtime;
  }
  return null;
}
