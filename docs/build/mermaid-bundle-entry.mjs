// The site's Mermaid bundle: Mermaid with the ELK layout engine registered, as one classic
// script (window.mermaid) so that pages opened straight from disk can load it.
import mermaid from 'mermaid';
import elkLayouts from '@mermaid-js/layout-elk';

mermaid.registerLayoutLoaders(elkLayouts);
globalThis.mermaid = mermaid;
