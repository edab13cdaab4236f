import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import Library from './screens/library/Library.svelte';
import Editor from './screens/editor/Editor.svelte';
import Chat from './screens/chat/Chat.svelte';
import MarketScreen from './screens/market/MarketScreen.svelte';
import WalletScreen from './screens/wallet/WalletScreen.svelte';
import ModelsScreen from './screens/models/ModelsScreen.svelte';
import SettingsScreen from './screens/settings/SettingsScreen.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target, props: { screens: { library: Library, editor: Editor, chat: Chat, market: MarketScreen, wallet: WalletScreen, models: ModelsScreen, settings: SettingsScreen } } });
