import type { PolicyDocument } from '@policy-logic-studio/shared';

/**
 * The policy seeded on first start: the emission-reduction step of a grid-connected
 * renewable electricity methodology (in the style of CDM AMS-I.D), where for each
 * monitoring report ER = BE - PE - LE:
 *   BE (baseline)  = net electricity supplied to the grid (MWh) x grid emission factor (tCO2/MWh)
 *   PE (project)   = diesel burned by backup generators (t) x 3.186 tCO2/t
 *   LE (leakage)   = BE x the report's leakage fraction
 * One Custom Logic block computes it in Python and one in JavaScript; both give the
 * same numbers for the sample input stored on each block as `testInput`.
 */

const PYTHON_SCRIPT = `# Emission reductions per monitoring report: ER = BE - PE - LE
DIESEL_EMISSION_FACTOR = 3.186  # tCO2 per tonne of diesel

results = []
for record in documents:
    report = record['document']['credentialSubject'][0]
    rows = report['rows']
    generated_mwh = sum(row['netElectricityMWh'] for row in rows)
    diesel_tonnes = sum(row.get('dieselTonnes', 0) for row in rows)
    baseline = generated_mwh * report['gridEmissionFactor']
    project = diesel_tonnes * DIESEL_EMISSION_FACTOR
    leakage = baseline * report['leakageFraction']
    debug(report['period'], {'generatedMWh': generated_mwh, 'dieselTonnes': diesel_tonnes})
    results.append({
        'projectId': report['projectId'],
        'period': report['period'],
        'baselineEmissions': round(baseline, 3),
        'projectEmissions': round(project, 3),
        'leakageEmissions': round(leakage, 3),
        'emissionReductions': round(baseline - project - leakage, 3),
    })

done(results)
`;

const JAVASCRIPT_SCRIPT = `// Emission reductions per monitoring report: ER = BE - PE - LE
const DIESEL_EMISSION_FACTOR = 3.186; // tCO2 per tonne of diesel
const round3 = (value) => Math.round(value * 1000) / 1000;

const results = documents.map((record) => {
  const report = record.document.credentialSubject[0];
  const generatedMWh = report.rows.reduce((total, row) => total + row.netElectricityMWh, 0);
  const dieselTonnes = report.rows.reduce((total, row) => total + (row.dieselTonnes ?? 0), 0);
  const baseline = generatedMWh * report.gridEmissionFactor;
  const project = dieselTonnes * DIESEL_EMISSION_FACTOR;
  const leakage = baseline * report.leakageFraction;
  debug(report.period, { generatedMWh, dieselTonnes });
  return {
    projectId: report.projectId,
    period: report.period,
    baselineEmissions: round3(baseline),
    projectEmissions: round3(project),
    leakageEmissions: round3(leakage),
    emissionReductions: round3(baseline - project - leakage),
  };
});

done(results);
`;

function monitoringReport(subject: Record<string, unknown>, id: string) {
  return {
    id,
    document: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      id: `urn:uuid:${id}`,
      type: ['VerifiableCredential'],
      issuer: 'did:example:project-developer',
      issuanceDate: '2024-07-01T00:00:00.000Z',
      credentialSubject: [{ type: 'MonitoringReport', ...subject }],
    },
  };
}

export const EXAMPLE_TEST_INPUT = {
  documents: [
    monitoringReport(
      {
        projectId: 'solar-park-17',
        period: '2024-Q1',
        gridEmissionFactor: 0.8,
        leakageFraction: 0.02,
        rows: [
          { month: '2024-01', netElectricityMWh: 1200, dieselTonnes: 1.5 },
          { month: '2024-02', netElectricityMWh: 1100, dieselTonnes: 1.0 },
          { month: '2024-03', netElectricityMWh: 1300, dieselTonnes: 0.5 },
        ],
      },
      '5b0c8f0e-2a43-4d7e-9a39-8f1f3c1b2a01',
    ),
    monitoringReport(
      {
        projectId: 'solar-park-17',
        period: '2024-Q2',
        gridEmissionFactor: 0.75,
        leakageFraction: 0.03,
        rows: [
          { month: '2024-04', netElectricityMWh: 900, dieselTonnes: 2.0 },
          { month: '2024-05', netElectricityMWh: 950 },
          { month: '2024-06', netElectricityMWh: 1000, dieselTonnes: 1.2 },
        ],
      },
      '5b0c8f0e-2a43-4d7e-9a39-8f1f3c1b2a02',
    ),
  ],
  user: { did: 'did:example:standard-registry', role: 'VVB' },
  artifacts: [],
  sources: [],
};

/** The numbers both blocks must produce for `EXAMPLE_TEST_INPUT`. */
export const EXAMPLE_EXPECTED_RESULT = [
  {
    projectId: 'solar-park-17',
    period: '2024-Q1',
    baselineEmissions: 2880,
    projectEmissions: 9.558,
    leakageEmissions: 57.6,
    emissionReductions: 2812.842,
  },
  {
    projectId: 'solar-park-17',
    period: '2024-Q2',
    baselineEmissions: 2137.5,
    projectEmissions: 10.195,
    leakageEmissions: 64.125,
    emissionReductions: 2063.18,
  },
];

export const EXAMPLE_PYTHON_TAG = 'calculate_reductions_python';
export const EXAMPLE_JAVASCRIPT_TAG = 'calculate_reductions_javascript';

function customLogicBlock(tag: string, language: 'PYTHON' | 'JAVASCRIPT', expression: string) {
  return {
    id: `${tag}-block`,
    blockType: 'customLogicBlock',
    tag,
    permissions: ['OWNER'],
    defaultActive: false,
    onErrorAction: 'no-action',
    expression,
    selectedScriptLanguage: language,
    outputSchema: '#EmissionReductionReport',
    unsigned: true,
    passOriginal: false,
    documentSigner: '',
    idType: 'UUID',
    children: [],
    events: [],
    testInput: EXAMPLE_TEST_INPUT,
  };
}

/** Output schema of both blocks; the default system fields are added when it is loaded. */
export const EMISSION_REDUCTION_SCHEMA = {
  $id: '#EmissionReductionReport',
  iri: '#EmissionReductionReport',
  name: 'EmissionReductionReport',
  title: 'Emission reduction report',
  type: 'object',
  properties: {
    projectId: { type: 'string', title: 'Project id' },
    period: { type: 'string', title: 'Monitoring period' },
    baselineEmissions: { type: 'number', title: 'Baseline emissions (tCO2e)' },
    projectEmissions: { type: 'number', title: 'Project emissions (tCO2e)' },
    leakageEmissions: { type: 'number', title: 'Leakage emissions (tCO2e)' },
    emissionReductions: { type: 'number', title: 'Emission reductions (tCO2e)' },
  },
  required: ['projectId', 'period', 'baselineEmissions', 'projectEmissions', 'leakageEmissions', 'emissionReductions'],
};

export const EXAMPLE_POLICY: PolicyDocument = {
  name: 'Grid-connected solar: emission reductions',
  description:
    'Computes emission reductions (baseline - project - leakage) from monitoring reports, once in Python and once in JavaScript.',
  policyTag: 'solar_emission_reductions',
  schemas: [EMISSION_REDUCTION_SCHEMA],
  config: {
    id: 'root-container',
    blockType: 'interfaceContainerBlock',
    tag: 'root',
    permissions: ['ANY_ROLE'],
    defaultActive: true,
    onErrorAction: 'no-action',
    uiMetaData: { type: 'blank' },
    children: [
      customLogicBlock(EXAMPLE_PYTHON_TAG, 'PYTHON', PYTHON_SCRIPT),
      customLogicBlock(EXAMPLE_JAVASCRIPT_TAG, 'JAVASCRIPT', JAVASCRIPT_SCRIPT),
    ],
    events: [],
  },
};
