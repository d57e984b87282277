// Russian: the source language of every text (see i18n.js), so nothing to translate.
export default {};
