import type { PolicyBlock } from '@policy-logic-studio/shared';

/** Readable names for common Guardian block types; other types show their `blockType`. */
const BLOCK_TYPE_LABELS: Record<string, string> = {
  customLogicBlock: 'Custom Logic',
  interfaceContainerBlock: 'Container',
  interfaceStepBlock: 'Step',
  policyRolesBlock: 'Roles',
  requestVcDocumentBlock: 'Request document',
  sendToGuardianBlock: 'Send to Guardian',
  interfaceDocumentsSourceBlock: 'Documents source',
  documentsSourceAddon: 'Documents source add-on',
  interfaceActionBlock: 'Action',
  buttonBlock: 'Button',
  mintDocumentBlock: 'Mint',
  reassigningBlock: 'Reassigning',
  calculateContainerBlock: 'Calculate container',
  calculateMathAddon: 'Math add-on',
};

export function blockTypeLabel(blockType: string): string {
  return BLOCK_TYPE_LABELS[blockType] ?? blockType;
}

/** Returns the tag, or the type when a block has no tag. */
export function blockDisplayName(block: PolicyBlock): string {
  return block.tag || blockTypeLabel(block.blockType);
}
