// The globals @web/test-runner-mocha provides to component tests (only what these tests use).
interface MochaContext {
  skip(): never;
  timeout(ms: number): void;
}
type MochaHook = (this: MochaContext) => void | Promise<void>;
declare function describe(title: string, fn: (this: MochaContext) => void): void;
declare function it(title: string, fn: MochaHook): void;
declare function before(fn: MochaHook): void;
declare function after(fn: MochaHook): void;
declare function beforeEach(fn: MochaHook): void;
declare function afterEach(fn: MochaHook): void;
