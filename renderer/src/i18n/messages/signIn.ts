export default {
  en: { title: 'Sign in to Gatehouse', username: 'Username', password: 'Password', submit: 'Sign in', failed: 'Sign-in failed' },
  nl: { title: 'Aanmelden bij Gatehouse', username: 'Gebruikersnaam', password: 'Wachtwoord', submit: 'Aanmelden', failed: 'Aanmelden mislukt' },
};
