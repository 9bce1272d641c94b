/** What an invariant reports (SPEC §5 `violations`; warnings share the shape). */
export interface Violation {
  invariant: string;
  atMs: number;
  message: string;
  objects: string[];
}

export interface Warning {
  warning: string;
  atMs: number;
  message: string;
  objects: string[];
}
