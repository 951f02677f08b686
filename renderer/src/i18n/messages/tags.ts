export default {
  en: { title: 'Tags', number: 'Tag number', uid: 'Card UID', active: 'Active', blocked: 'Blocked', lost: 'Lost or stolen', reportLost: 'Lost / stolen', found: 'Found again', takeBack: 'Take back' },
  nl: { title: 'Tags', number: 'Tagnummer', uid: 'Kaart-UID', active: 'Actief', blocked: 'Geblokkeerd', lost: 'Verloren of gestolen', reportLost: 'Verloren / gestolen', found: 'Teruggevonden', takeBack: 'Innemen' },
};
