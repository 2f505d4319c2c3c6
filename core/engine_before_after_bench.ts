/**
 * The interactive loop before and after a change, side by side in one run: fixed ZipAR (24×24,
 * and 90×90 with EOL) and the first-token adaptive window on the mock, one image. Point
 * ZIPAR_BEFORE at an older checkout's root (its core/ and backends/mock/ are imported):
 *
 *   git archive <rev> core backends | tar -x -C /tmp/before
 *   ZIPAR_BEFORE=/tmp/before deno bench -A core/engine_before_after_bench.ts
 *
 * Without ZIPAR_BEFORE the benches are listed as ignored.
 */
import * as after from "./mod.ts";
import { MockBackend } from "../backends/mock/mock.ts";

const dir = Deno.env.get("ZIPAR_BEFORE");
const before = dir ? await import(`file://${dir}/core/mod.ts`) : null;
const BeforeMock = dir ? (await import(`file://${dir}/backends/mock/mock.ts`)).MockBackend : null;
const images = [{ condition: 1, seed: 0, index: 0 }];

type Core = typeof after;
const cases: [
  string,
  ConstructorParameters<typeof MockBackend>[0],
  (c: Core, l: after.Layout) => after.Schedule,
][] = [
  [
    "24×24 ideal s=8",
    { height: 24, width: 24, vocab: 16 },
    (c, l) => c.createSchedule(l, { window: 8 }),
  ],
  [
    "90×90 EOL s=7",
    { height: 90, width: 90, vocab: 16, eolToken: 16 },
    (c, l) => c.createSchedule(l, { window: 7 }),
  ],
  [
    "24×24 adaptive m=4",
    { height: 24, width: 24, vocab: 16 },
    (c, l) => c.createAdaptiveSchedule(l, { minWindow: 4 }),
  ],
];
for (const [label, mock, make] of cases) {
  for (
    const [which, core, Mock] of [["before", before, BeforeMock], [
      "after",
      after,
      MockBackend,
    ]] as const
  ) {
    const backend = Mock ? new Mock(mock) : null;
    const schedule = core && backend ? make(core as Core, core.layoutOf(backend.info)) : null;
    Deno.bench({
      name: `${which} ${label}${dir ? "" : " (set ZIPAR_BEFORE=DIR)"}`,
      group: label,
      baseline: which === "before",
      ignore: !schedule,
      fn: async () => {
        await (core as Core).generate(backend!, {
          images,
          schedule: schedule!,
          mode: "interactive",
        });
      },
    });
  }
}
