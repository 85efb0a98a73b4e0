/** The short listener name: the operator names listeners `namespace/gateway/listener`. */
export function shortListenerName(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? name : name.slice(i + 1);
}
